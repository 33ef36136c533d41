import net from 'node:net';
import type { Middleware } from 'koa';
import { DomainError } from '../../core/errors';

/**
 * Parses `10.0.0.0/8, 192.168.1.7, 2001:db8::/32` into a block list. Throws with the offending entry,
 * so a typo stops the start instead of silently letting everyone (or no one) in.
 */
export function parseAllowList(spec: string): net.BlockList {
  const list = new net.BlockList();
  for (const raw of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [address, prefix] = raw.split('/');
    const family = net.isIP(address ?? '');
    if (!family) throw new Error(`not an IP address or CIDR: ${raw}`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) {
      list.addAddress(address!, type);
    } else {
      const bits = Number(prefix);
      if (!Number.isInteger(bits) || bits < 0 || bits > (family === 6 ? 128 : 32)) throw new Error(`bad prefix length in ${raw}`);
      list.addSubnet(address!, bits, type);
    }
  }
  return list;
}

/** True when the address (IPv4, IPv6, or IPv4-mapped IPv6 as Node reports it) is on the list. */
export function allowed(list: net.BlockList, ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return list.check(mapped[1]!, 'ipv4') || list.check(ip, 'ipv6');
  const family = net.isIP(ip);
  if (!family) return false;
  return list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}

/** 403 `ip_not_allowed` for callers outside the list; the client address is the socket's unless TRUST_PROXY is on. */
export function ipAllowList(list: net.BlockList | undefined): Middleware {
  return async (ctx, next) => {
    if (list && !allowed(list, ctx.ip)) throw new DomainError('ip_not_allowed', 'This address may not call this endpoint');
    return next();
  };
}
