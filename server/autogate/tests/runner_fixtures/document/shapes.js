import { hypot } from "./math.js";

/** A point in the plane. */
export class Point {
  constructor(x, y) {
    this.x = x;
    this.y = y;
  }
}

export function distance(a, b) {
  return hypot(a.x - b.x, a.y - b.y);
}

function internal() {
  return 0;
}

// A line comment is not JSDoc.
export function* range(n) {
  for (let i = 0; i < n; i++) yield i;
}

export const ORIGIN = new Point(0, 0);

export const midpoint = (a, b) => new Point((a.x + b.x) / 2, (a.y + b.y) / 2);

export default function () {
  return internal();
}
