import { spawn } from 'node:child_process';
import { OperationError } from '../../common/errors.js';

/** What `hearth image build` needs from Docker: is the engine there, and run one container. */
export interface DockerRunner {
  /** Resolves when the docker client exists and its engine answers; throws OperationError saying which is missing. */
  ensureEngine(): Promise<void>;
  /** `docker ARGS...` with `stdin` on standard input; the container's output is streamed to `onOutput`. */
  run(args: string[], stdin: string, onOutput: (chunk: string) => void): Promise<{ code: number; output: string }>;
}

interface Spawned {
  code: number;
  stdout: string;
  stderr: string;
}

function runProcess(bin: string, args: string[], stdin: string, onOutput?: (chunk: string) => void): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      onOutput?.(d.toString());
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      onOutput?.(d.toString());
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.on('error', () => undefined); // the process may exit before reading stdin
    child.stdin.end(stdin);
  });
}

/** The first meaningful line of a docker client's error output. */
function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '') ?? ''
  );
}

const ENGINE_DOWN = /Cannot connect to the Docker daemon|Is the docker daemon running|error during connect|docker\.sock.*(no such file|connection refused|permission denied)/i;
const NETWORK_DOWN = /(dial tcp|lookup [^ ]+|no such host|network is unreachable|i\/o timeout|TLS handshake timeout|connection refused|temporary failure in name resolution)/i;

/** Explains a failed `docker run` in one line: engine, network, or the imager itself. */
export function explainDockerFailure(output: string, code: number): string {
  if (ENGINE_DOWN.test(output)) return `the Docker engine is not running or not reachable: ${firstLine(output.match(/.*(Cannot connect|error during connect|daemon).*/i)?.[0] ?? output)}`;
  if (NETWORK_DOWN.test(output)) return `the network is unreachable (pulling images failed): ${firstLine(output.match(/.*(dial tcp|lookup|no such host|unreachable|timeout|refused).*/i)?.[0] ?? output)}`;
  const last = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .pop();
  return `the imager failed (exit code ${code})${last ? `: ${last}` : ''}`;
}

/** The real docker command line client. */
export class DockerCli implements DockerRunner {
  constructor(private readonly bin = process.env.HEARTH_DOCKER ?? 'docker') {}

  async ensureEngine(): Promise<void> {
    let res: Spawned;
    try {
      res = await runProcess(this.bin, ['version', '--format', '{{.Server.Version}}'], '');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new OperationError(`docker is not installed: no \`${this.bin}\` command on PATH (install Docker, or use image.source: factory)`);
      }
      throw new OperationError(`cannot run ${this.bin}: ${(err as Error).message}`);
    }
    if (res.code !== 0 || res.stdout.trim() === '') {
      const why = firstLine(res.stderr) || firstLine(res.stdout) || `exit code ${res.code}`;
      throw new OperationError(`the Docker engine is not running or not reachable: ${why}`);
    }
  }

  async run(args: string[], stdin: string, onOutput: (chunk: string) => void): Promise<{ code: number; output: string }> {
    try {
      const res = await runProcess(this.bin, args, stdin, onOutput);
      return { code: res.code, output: res.stdout + res.stderr };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new OperationError(`docker is not installed: no \`${this.bin}\` command on PATH`);
      }
      throw err;
    }
  }
}
