//! The console's entry point; everything else is in the library.
fn main() {
    porchlight_console::start();
}
