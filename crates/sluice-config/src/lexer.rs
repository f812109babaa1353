//! Splitting one configuration line into words: quotes, escapes, environment expansion.
