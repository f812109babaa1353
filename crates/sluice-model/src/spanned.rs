//! A typed value and the place in the configuration it came from.

use sluice_config::Location;

/// A value with the location of the statement (or word) that set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub location: Location,
}

impl<T> Spanned<T> {
    pub fn new(value: T, location: Location) -> Self {
        Self { value, location }
    }
}
