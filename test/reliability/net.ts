/**
 * Which local addresses listen on a TCP port: from /proc/net/tcp{,6} on Linux, from lsof on
 * macOS. Used to assert that every server the app starts is bound to 127.0.0.1 only.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

const LISTEN = '0A';

function ipv4FromHex(hex: string): string {
  // /proc prints the address as a little-endian 32-bit number.
  const bytes = hex.match(/../g)!.map((pair) => parseInt(pair, 16)).reverse();
  return bytes.join('.');
}

function ipv6FromHex(hex: string): string {
  // Four little-endian 32-bit words.
  const words = hex.match(/.{8}/g)!.map((word) => word.match(/../g)!.reverse().join(''));
  const groups = words.join('').match(/.{4}/g)!.map((group) => parseInt(group, 16).toString(16));
  const text = groups.join(':');
  if (text === '0:0:0:0:0:0:0:0') return '::';
  if (text === '0:0:0:0:0:0:0:1') return '::1';
  if (/^0:0:0:0:0:ffff:/.test(text)) return `::ffff:${ipv4FromHex(words[3]!.match(/../g)!.reverse().join(''))}`;
  return text;
}

/** Parses /proc/net/tcp or tcp6 text: the local addresses listening on `port`. */
export function parseProcNetTcp(text: string, port: number, family: 4 | 6): string[] {
  const found: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4 || fields[3] !== LISTEN) continue;
    const [addressHex, portHex] = fields[1]!.split(':');
    if (parseInt(portHex!, 16) !== port) continue;
    found.push(family === 4 ? ipv4FromHex(addressHex!) : ipv6FromHex(addressHex!));
  }
  return found;
}

export async function listeningAddresses(port: number): Promise<string[]> {
  if (process.platform === 'linux') {
    const read = (path: string) => readFile(path, 'utf8').catch(() => '');
    return [...parseProcNetTcp(await read('/proc/net/tcp'), port, 4), ...parseProcNetTcp(await read('/proc/net/tcp6'), port, 6)];
  }
  const output = await new Promise<string>((resolve) => execFile('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-F', 'n'], (_error, stdout) => resolve(stdout ?? '')));
  return output
    .split('\n')
    .filter((line) => line.startsWith('n'))
    .map((line) => line.slice(1).replace(/:\d+$/, '').replace(/^\[|\]$/g, ''));
}
