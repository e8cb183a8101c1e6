// The JSON reporter: one JSON object per event on stdout (JSON lines), each
// with an ISO timestamp, and nothing else there. The contract is
// schemas/events.schema.json.
import type { RunEvent, RunReporter } from './events.js';

export class JsonReporter implements RunReporter {
  constructor(private readonly out: (s: string) => void) {}

  event(e: RunEvent): void {
    this.out(JSON.stringify({ ...e, time: new Date().toISOString() }));
  }
}
