/**
 * Deterministic randomness: a small seeded PRNG for faults and seed histories, and opaque ids
 * derived by hashing, so the same seed always yields the same UUIDs and commit SHAs.
 */
import { createHash } from 'node:crypto';

/** A PRNG returning floats in [0, 1); the same seed gives the same sequence (mulberry32). */
export function createPrng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * An opaque UUID-shaped id from a name. Like real Codeship ids it is not RFC-4122-valid on
 * purpose (time-based looking, zero tail), so clients that validate UUIDs strictly fail early.
 */
export function opaqueUuid(name: string): string {
  const h = hex(`uuid:${name}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 28)}0000`;
}

/** A 40-hex commit SHA derived from a name (a branch head is `sha(project/branch)`). */
export function commitSha(name: string): string {
  return hex(`sha:${name}`).slice(0, 40);
}
