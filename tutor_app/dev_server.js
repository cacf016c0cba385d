// The frontend dev server's part of `make dev` (Reflex's development mode), a Vite plugin.
// `tutor_app/dev_server.py` copies this file into the Reflex web directory and adds the
// plugin to the generated vite.config.js with its options; nothing of it exists in a
// production build.
//
// In development the pages come from this server (APP_URL, e.g. http://localhost:3000) and
// the app's Python runs on the backend's own port. The plugin makes the pages work as they
// do on the single port of production:
// - the paths the backend answers itself (`backendPaths`: the API, stored photos) are
//   forwarded to it, so a page's links, forms and full-page navigations reach the backend;
// - every page load asks the backend for the pre-sign-in cookie (`cookiePath`) and passes
//   its Set-Cookie on, as the backend does for the pages it serves in production, so the
//   page's websocket carries the cookie the sign-in forms are bound to;
// - the server listens on `host` (loopback) only, whatever `--host` Reflex starts it with.

export default function tutorlyDevServer({ backend, backendPaths, cookiePath, host }) {
  const forwarded = (url) => backendPaths.some((prefix) => url.startsWith(prefix));
  const setCookies = (headers) =>
    typeof headers.getSetCookie === "function"
      ? headers.getSetCookie()
      : [headers.get("set-cookie")].filter(Boolean);

  return {
    name: "tutorly-dev-server",
    config() {
      return {
        server: {
          host,
          proxy: Object.fromEntries(backendPaths.map((prefix) => [prefix, backend])),
        },
      };
    },
    configureServer(server) {
      // Added directly (not returned), so it runs before Vite's own handlers of the page.
      server.middlewares.use((req, res, next) => {
        const url = req.url || "/";
        const page =
          (req.method === "GET" || req.method === "HEAD") &&
          (req.headers.accept || "").includes("text/html") &&
          !forwarded(url);
        if (!page) {
          next();
          return;
        }
        fetch(backend + cookiePath, { headers: { cookie: req.headers.cookie || "" } })
          .then((answer) => {
            const cookies = setCookies(answer.headers);
            if (cookies.length) {
              res.setHeader("Set-Cookie", cookies);
              res.setHeader("Cache-Control", "private, no-store");
            }
          })
          // The backend is restarting after an edit: the next page load gets the cookie.
          .catch(() => {})
          .finally(() => next());
      });
    },
  };
}
