"""The browser-facing side: flow pages, templates, static files, CSRF, i18n, branding, headers."""
