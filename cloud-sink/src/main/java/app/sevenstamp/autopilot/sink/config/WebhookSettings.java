package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.net.URI;
import java.util.regex.Pattern;

/**
 * Outgoing webhooks.
 *
 * <table>
 * <caption>Keys</caption>
 * <tr><th>key</th><th>default</th><th>allowed</th></tr>
 * <tr><td>{@code webhook.url}</td><td>(none: no webhooks)</td><td>{@code http://...} or {@code https://...}</td></tr>
 * <tr><td>{@code webhook.secret}</td><td>(required with webhook.url)</td><td>24..200 printable characters; the HMAC-SHA256 key; never logged</td></tr>
 * </table>
 */
public record WebhookSettings(URI url, String secret) {
    static final Pattern URL = Pattern.compile("https?://[^\\s]+");
    static final Pattern SECRET = Pattern.compile("[\\x21-\\x7E]{24,200}");

    static WebhookSettings from(Settings s) {
        String url = s.matching("webhook.url", null, URL, "http://HOST[:PORT]/PATH or https://HOST[:PORT]/PATH");
        String secret = s.matching("webhook.secret", null, SECRET, "24 to 200 printable characters without spaces");
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
