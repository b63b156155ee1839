fn main() {
    println!("zmreip");
}
