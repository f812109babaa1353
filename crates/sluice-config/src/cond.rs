//! Conditional expressions of `.if`/`.elif` and `-cc`.
