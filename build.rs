//! Rebuild when the built-in features or fixtures change: they are embedded in the binary.

fn main() {
    println!("cargo:rerun-if-changed=features");
    println!("cargo:rerun-if-changed=fixtures");
}
