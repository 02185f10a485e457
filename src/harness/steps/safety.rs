//! Steps added for the safety features.
