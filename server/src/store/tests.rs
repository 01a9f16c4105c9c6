//! placeholder
macro_rules! store_suite {
    ($paused:expr, $make:expr) => {};
}
