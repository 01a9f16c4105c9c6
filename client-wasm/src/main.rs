//! Entry point of the web app: mounts the root component on the page's body.

fn main() {
    vroom_web::start();
}
