//! vroom's web app.

use leptos::prelude::*;

/// Mounts the app on the page's body.
pub fn start() {
    leptos::mount::mount_to_body(|| view! { <p>"vroom"</p> });
}
