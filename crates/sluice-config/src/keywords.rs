//! The catalogue of HAProxy 3.4 keywords and Sluice's support for each.
