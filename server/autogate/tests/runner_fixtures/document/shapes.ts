export interface Shape {
  area(): number;
}

export class Circle implements Shape {
  constructor(private readonly radius: number) {}

  area(): number {
    return Math.PI * this.radius ** 2;
  }
}

/**
 * A square.
 */
export class Square implements Shape {
  constructor(private readonly side: number) {}

  area(): number {
    return this.side ** 2;
  }
}

export abstract class Base {
  abstract name(): string;
}

export function total(shapes: Shape[]): number {
  return shapes.reduce((sum, s) => sum + s.area(), 0);
}

function hidden(): void {}
