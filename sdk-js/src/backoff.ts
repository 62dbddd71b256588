/**
 * Reconnect delay in ms for the attempt-th retry (0-based): exponential backoff
 * with full jitter, uniform in [0, min(max, min * 2^attempt)) (AWS Architecture
 * Blog, "Exponential Backoff And Jitter").
 */
export function backoff(attempt: number, min: number, max: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(max, min * 2 ** Math.min(attempt, 31)));
}
