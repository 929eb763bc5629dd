package shapes

import "math"

// Point is a point in the plane.
type Point struct {
	X, Y float64
}

type Circle struct {
	Center Point
	Radius float64
}

type (
	Square struct{ Side float64 }
	scale  float64
)

func (c Circle) Area() float64 {
	return math.Pi * c.Radius * c.Radius
}

func (c Circle) perimeter() float64 {
	return 2 * math.Pi * c.Radius
}

//go:noinline
func Origin() Point {
	return Point{}
}

// Distance is documented.
func Distance(a, b Point) float64 {
	return math.Hypot(a.X-b.X, a.Y-b.Y)
}

// This comment is separated by a blank line.

func Total(cs []Circle) float64 {
	t := 0.0
	for _, c := range cs {
		t += c.Area()
	}
	return t
}
