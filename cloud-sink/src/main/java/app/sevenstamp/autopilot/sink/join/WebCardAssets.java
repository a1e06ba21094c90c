package app.sevenstamp.autopilot.sink.join;

import app.sevenstamp.autopilot.sink.cards.QrPng;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;

/**
 * The static files of the join page and the web card, served from memory: their style, the script that
 * registers the service worker (a file, since the pages' policy allows no inline script), the service
 * worker, and the home-screen icons (drawn once at start).
 *
 * <p>Offline: the service worker answers the web card's page, its QR code, its manifest and the styles
 * from the network when it can (so the stamps shown are fresh) and from its cache when not. The page's
 * script also puts the page and its QR code into that cache at once, since the first visit, the one
 * that registers the worker, is not yet under its control. Browsers without service workers (or on
 * plain http, where they are off) still get the QR code cached for a year, immutable (a card's code never
 * changes), and the page as {@code private, no-cache}: kept, revalidated when online.
 */
final class WebCardAssets {
    static final String CACHE = "webcard-v1";

    static final String STYLE = String.join("\n",
            "main{max-width:28rem;margin:0 auto}",
            "body{margin:1rem;line-height:1.4}",
            ".lead{font-size:1.15rem}",
            "form{display:flex;flex-direction:column;gap:.9rem;margin:1.5rem 0}",
            "label{display:flex;flex-direction:column;gap:.3rem}",
            "label.consent{flex-direction:row;align-items:flex-start;gap:.6rem;font-size:.9rem}",
            "input[type=text],input[type=email]{font-size:1.1rem;padding:.6rem;border:1px solid #999;border-radius:.4rem}",
            "button,.button{display:block;text-align:center;font-size:1.2rem;padding:.9rem;border:0;border-radius:.6rem;"
                    + "background:#b5651d;color:#fff;text-decoration:none;margin:.5rem 0}",
            ".button.wallet{background:#111}",
            ".qr{display:block;max-width:100%;height:auto;margin:1rem auto;image-rendering:pixelated}",
            ".fine{color:#666;font-size:.85rem}",
            ".error{color:#a00000;font-weight:bold}",
            "");

    static final String REGISTER = String.join("\n",
            "// Registers the web card's service worker and caches the card at once (see WebCardAssets.java).",
            "(function () {",
            "  if (!('serviceWorker' in navigator) || !window.caches) { return; }",
            "  navigator.serviceWorker.register('/webcard-sw.js', { scope: '/cards/' }).then(function () {",
            "    var qr = document.querySelector('img.qr');",
            "    var urls = [location.pathname, '/assets/site.css', '/assets/join.css'];",
            "    if (qr) { urls.push(qr.getAttribute('src')); }",
            "    return caches.open('" + CACHE + "').then(function (c) { return c.addAll(urls); });",
            "  }).catch(function (e) { console.warn('web card: no offline copy (' + e + '); the page still works online'); });",
            "})();",
            "");

    static final String WORKER = String.join("\n",
            "// The web card's service worker: network first, the cached copy when offline.",
            "var CACHE = '" + CACHE + "';",
            "var CARD = /^\\/cards\\/[A-Z2-7]{8,26}\\/w\\/[A-Za-z0-9_-]{22}(\\/qr\\.png|\\/manifest\\.webmanifest)?$/;",
            "self.addEventListener('install', function () { self.skipWaiting(); });",
            "self.addEventListener('activate', function (e) { e.waitUntil(self.clients.claim()); });",
            "self.addEventListener('fetch', function (e) {",
            "  var url = new URL(e.request.url);",
            "  if (e.request.method !== 'GET' || url.origin !== self.location.origin) { return; }",
            "  if (!CARD.test(url.pathname) && url.pathname.indexOf('/assets/') !== 0) { return; }",
            "  e.respondWith(fetch(e.request).then(function (r) {",
            "    if (r.ok) { var copy = r.clone(); caches.open(CACHE).then(function (c) { c.put(e.request, copy); }); }",
            "    return r;",
            "  }).catch(function () {",
            "    return caches.match(e.request, { ignoreSearch: true }).then(function (r) { return r || Response.error(); });",
            "  }));",
            "});",
            "");

    private WebCardAssets() {
    }

    /** A square icon: a filled stamp circle on the program colour. */
    static byte[] icon(int size) {
        BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(new Color(0xb5, 0x65, 0x1d));
            g.fillRect(0, 0, size, size);
            g.setColor(Color.WHITE);
            int pad = size / 5;
            g.setStroke(new BasicStroke(size / 16f));
            g.drawOval(pad, pad, size - 2 * pad, size - 2 * pad);
            int inner = size / 3;
            g.fillOval((size - inner) / 2, (size - inner) / 2, inner, inner);
        } finally {
            g.dispose();
        }
        return QrPng.encode(image);
    }
}
