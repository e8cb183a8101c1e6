// The Prometheus metrics of `mlpipe serve` (prom-client, text exposition at
// GET /metrics): requests by route and status, client errors by reason,
// request latency as a histogram, rows scored, and the distribution of
// predictions — a counter per class for classifiers, a summary (quantiles) of
// the predicted value for regressors.
import { Counter, Histogram, Registry, Summary } from 'prom-client';
import type { Signature } from '../ml/signature.js';

export class ServeMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({ name: 'mlpipe_serve_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'] as const, registers: [this.registry] });
  private readonly errors = new Counter({ name: 'mlpipe_serve_errors_total', help: 'Requests answered with an error, by reason', labelNames: ['reason'] as const, registers: [this.registry] });
  private readonly latency = new Histogram({
    name: 'mlpipe_serve_request_duration_seconds',
    help: 'Time from request to response, by route',
    labelNames: ['route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  private readonly rows = new Counter({ name: 'mlpipe_serve_rows_total', help: 'Rows scored', registers: [this.registry] });
  private readonly classes?: Counter<'class'>;
  private readonly values?: Summary;

  constructor(sig: Signature) {
    if (sig.task === 'classification') {
      this.classes = new Counter({ name: 'mlpipe_serve_predictions_total', help: 'Predictions by class', labelNames: ['class'] as const, registers: [this.registry] });
      for (const c of sig.outputs[0].classes ?? []) this.classes.inc({ class: c }, 0);
    } else {
      this.values = new Summary({ name: 'mlpipe_serve_prediction_value', help: 'Distribution of predicted values', percentiles: [0.01, 0.1, 0.5, 0.9, 0.99], registers: [this.registry] });
    }
  }

  request(route: string, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, status: String(status) });
    this.latency.observe({ route }, seconds);
  }

  error(reason: string): void {
    this.errors.inc({ reason });
  }

  predictions(values: readonly (string | number)[]): void {
    this.rows.inc(values.length);
    if (this.classes) {
      const counts = new Map<string, number>();
      for (const v of values) counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
      for (const [c, n] of counts) this.classes.inc({ class: c }, n);
    } else for (const v of values) this.values!.observe(v as number);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
