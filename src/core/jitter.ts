/**
 * Per-schedule jitter: a stable offset derived from the schedule's name, so a fleet of schedules
 * written as "0 2 * * *" spreads its triggers over the jitter window instead of hitting the API in
 * the same second, and each schedule keeps the same offset across restarts, hosts and versions.
 */

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const TWO_POW_32 = 2 ** 32;
const utf8 = new TextEncoder();

/** 32-bit FNV-1a over the UTF-8 bytes of `text` (unsigned). */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of utf8.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/**
 * FNV-1a followed by murmur3's fmix32 finaliser. FNV-1a alone leaves names that differ in their
 * last character ("nightly-1", "nightly-2") poorly mixed; the finaliser spreads every input bit
 * over all output bits. Both steps are fixed forever: changing either would move every schedule's
 * fire time.
 */
export function stableHash32(text: string): number {
  let hash = fnv1a32(text);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/**
 * The offset, in whole milliseconds in [0, jitterMs), by which every slot of the schedule named
 * `scheduleName` fires after its nominal instant. The same name always gets the same offset; 0
 * when `jitterMs` is 0 (or not a positive number). Jitter moves when a slot fires, never its
 * identity: the ledger keys slots by the nominal instant.
 */
export function jitterOffsetMs(scheduleName: string, jitterMs: number): number {
  if (!(jitterMs > 0)) return 0;
  // Scaling the hash as a fraction of 2^32 (instead of `hash % jitterMs`) has no modulo bias.
  return Math.floor((stableHash32(scheduleName) / TWO_POW_32) * jitterMs);
}
