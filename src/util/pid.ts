// Whether a process id is running on this machine: how mlpipe tells a lock or
// a temp file left by a dead process from one a live process still owns.
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
