//! Steps added for the workflows features.
