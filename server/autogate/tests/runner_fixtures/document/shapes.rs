//! Geometry helpers.

use std::fmt;

/// A point in the plane.
#[derive(Clone, Copy, Debug)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

#[derive(Debug)]
pub enum Shape {
    Circle { center: Point, radius: f64 },
    Square { corner: Point, side: f64 },
}

pub trait Area {
    fn area(&self) -> f64;
}

impl Area for Shape {
    fn area(&self) -> f64 {
        match self {
            Shape::Circle { radius, .. } => std::f64::consts::PI * radius * radius,
            Shape::Square { side, .. } => side * side,
        }
    }
}

impl Shape {
    #[must_use]
    pub fn scaled(&self, k: f64) -> Shape {
        match *self {
            Shape::Circle { center, radius } => Shape::Circle { center, radius: radius * k },
            Shape::Square { corner, side } => Shape::Square { corner, side: side * k },
        }
    }

    fn describe(&self) -> &'static str {
        "shape"
    }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.x, self.y)
    }
}

pub(crate) fn helper() {}

// Not a doc comment.
pub fn origin() -> Point {
    Point { x: 0.0, y: 0.0 }
}
