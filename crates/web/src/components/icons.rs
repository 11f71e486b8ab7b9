//! Inline SVG icons. Inline, not files: no extra requests, and they take the text colour
//! (`currentColor`) so they follow the theme. All are decorative (`aria-hidden`).

use yew::prelude::*;

pub fn logo() -> Html {
    html! {
        <svg class="logo" viewBox="0 0 32 32" width="28" height="28" aria-hidden="true" focusable="false">
            <rect x="1" y="1" width="30" height="30" rx="7" class="logo-bg"/>
            <path d="M7 24 C 11 23, 13 12, 25 8" class="logo-curve"/>
            <circle cx="25" cy="8" r="2.4" class="logo-dot"/>
            <path d="M7 25 H25" class="logo-axis"/>
        </svg>
    }
}

pub fn lock() -> Html {
    html! {
        <svg class="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
            <rect x="5" y="10.5" width="14" height="10" rx="2" fill="none" stroke="currentColor" stroke-width="1.8"/>
            <path d="M8 10.5 V7.5 a4 4 0 0 1 8 0 V10.5" fill="none" stroke="currentColor" stroke-width="1.8"/>
        </svg>
    }
}

pub fn upload() -> Html {
    html! {
        <svg class="icon icon-lg" viewBox="0 0 24 24" width="36" height="36" aria-hidden="true" focusable="false">
            <path d="M12 16 V4 M7 9 L12 4 L17 9" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/>
            <path d="M4 15 V19 a1 1 0 0 0 1 1 H19 a1 1 0 0 0 1 -1 V15" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round"/>
        </svg>
    }
}

pub fn warning() -> Html {
    html! {
        <svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
            <path d="M12 3 L22 20 H2 Z" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round"/>
            <path d="M12 10 V14 M12 17 V17.5" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>
        </svg>
    }
}
