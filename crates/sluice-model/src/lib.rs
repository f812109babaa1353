//! # sluice-model
//!
//! The typed configuration.
