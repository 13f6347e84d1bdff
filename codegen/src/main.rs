//! Generates the `graph-api` crate from Microsoft Graph CSDL metadata.

fn main() {
    println!("codegen: not yet implemented");
}
