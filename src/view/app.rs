//! The root component: starts the runtime, which loads the site configuration, then shows
//! the launcher and panel.

use super::focus_soon;
use super::launcher::{LAUNCHER_ID, Launcher};
use super::panel::{Panel, focus_target};
use super::theme;
use crate::machine::Widget;
use crate::runtime::{Runtime, boot, host};
use leptos::prelude::*;
use porchlight_protocol::{Position, SiteConfig, SiteId};

/// The launcher the page draws before the app starts (`index.html`, `boot.js`).
const BOOT_ROOT_ID: &str = "pl-boot-root";

/// Takes over from the launcher drawn before the app: removes it, carries out what reached
/// the page meanwhile (a click on it opens the panel and moves focus in, as a click on the
/// app's launcher does), and keeps focus on the launcher if it was there.
fn take_over(runtime: Runtime) {
    let had_focus = document()
        .active_element()
        .is_some_and(|e| e.id() == "pl-boot");
    if let Some(boot) = document().get_element_by_id(BOOT_ROOT_ID) {
        boot.remove();
    }
    if host::take_boot_commands(runtime) {
        focus_soon(focus_target(
            runtime,
            runtime.widget.with_untracked(Widget::phase),
        ));
    } else if had_focus {
        focus_soon(LAUNCHER_ID);
    }
}

/// Draws the panel and the launcher once the configuration is known. They are built once
/// and never rebuilt, so they are mounted as a root of their own (with the runtime in its
/// context) rather than returned from a reactive closure, whose rebuild code for the whole
/// tree would only weigh on the bundle.
fn show(runtime: Runtime, config: &'static SiteConfig) {
    leptos::mount::mount_to_body(move || {
        provide_context(runtime);
        let left = config.position == Position::BottomLeft;
        view! {
            <div class="pl-root" class=("pl-left", left)>
                <Panel config />
                <Launcher texts=&config.texts />
            </div>
        }
    });
}

/// The whole widget for `site`: the runtime starts, and shows the panel and launcher once
/// the configuration is known.
#[component]
pub fn App(site: SiteId) -> impl IntoView {
    let runtime = Runtime::new(site);
    provide_context(runtime);
    let position = RwSignal::new(None::<Position>);
    boot::start(runtime, move |config| {
        theme::apply(config);
        show(runtime, config);
        take_over(runtime);
        position.set(Some(config.position));
    });
    Effect::new(move |_| {
        let open = runtime.widget.with(|w| w.open);
        if let Some(position) = position.get() {
            host::resize(open, position);
        }
    });
}
