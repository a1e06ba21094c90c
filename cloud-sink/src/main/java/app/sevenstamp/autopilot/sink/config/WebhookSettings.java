package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.net.URI;
import java.util.regex.Pattern;

/**
 * Outgoing webhooks.
 *
 * <p>Its keys, their defaults and what they allow: {@link SinkKeys} (and docs/configuration.md).
 */
public record WebhookSettings(URI url, String secret) {
    static final Pattern URL = Pattern.compile("https?://[^\\s]+");
    static final Pattern SECRET = Pattern.compile("[\\x21-\\x7E]{24,200}");

    static WebhookSettings from(Settings s) {
        String url = s.matching(SinkKeys.WEBHOOK_URL, URL, "http://HOST[:PORT]/PATH or https://HOST[:PORT]/PATH");
        String secret = s.matching(SinkKeys.WEBHOOK_SECRET, SECRET, "24 to 200 printable characters without spaces");
        if (url != null && secret == null) {
            throw new ConfigException("webhook.secret: missing; webhook.url is set, and every webhook is signed with "
                    + "HMAC-SHA256 under webhook.secret (24 to 200 printable characters)");
        }
        return new WebhookSettings(url == null ? null : URI.create(url), secret);
    }

    public boolean enabled() {
        return url != null;
    }

    @Override
    public String toString() {
        return "WebhookSettings[url=" + url + ", secret=" + (secret == null ? null : "****") + "]";
    }
}
