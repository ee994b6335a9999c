//! Page templates rendered with hostile values.
