/**
 * Named crash points for the crash tests and the soak: when ISSUANCE_CRASH_AT names this point, the
 * process kills itself with SIGKILL right here, as a power cut would. Inert otherwise.
 */
const armed = new Set((process.env.ISSUANCE_CRASH_AT ?? '').split(',').filter(Boolean));

export async function failpoint(name: string): Promise<void> {
  if (armed.size === 0 || !armed.has(name)) return;
  process.stderr.write(`failpoint ${name}: SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
  await new Promise(() => undefined); // never resumes
}
