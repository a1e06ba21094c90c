package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.net.URI;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Google Wallet (docs/wallet.md, "Google Wallet"). Without {@code google.issuerId} the Google channel
 * is off: the join page offers no Google button and the sink says so once in its log.
 *
 * <table>
 * <caption>Keys</caption>
 * <tr><th>key</th><th>default</th><th>allowed</th></tr>
 * <tr><td>{@code google.issuerId}</td><td>(none: Google Wallet off)</td><td>the issuer id of the Google Pay &amp; Wallet
 *     Console, 1..25 digits</td></tr>
 * <tr><td>{@code google.serviceAccountFile}</td><td>(required with issuerId)</td><td>the service account's JSON key
 *     file (client_email, private_key as PKCS#8 PEM, token_uri); keep it mode 600</td></tr>
 * <tr><td>{@code google.issuerName}</td><td>(required with issuerId)</td><td>1..80 characters: the business name on
 *     every pass</td></tr>
 * <tr><td>{@code google.logoUrl}</td><td>(required with issuerId)</td><td>{@code https://...}: the program logo
 *     Google fetches and shows on the pass (a square PNG of at least 660 px)</td></tr>
 * <tr><td>{@code google.origins}</td><td>(none)</td><td>comma-separated {@code https://HOST[:PORT]}: the sink's public
 *     origin(s), put into every save link's JWT</td></tr>
 * <tr><td>{@code google.apiUrl}</td><td>{@code https://walletobjects.googleapis.com}</td><td>{@code http(s)://HOST[:PORT]};
 *     only tests change it</td></tr>
 * <tr><td>{@code google.tokenUrl}</td><td>(the key file's {@code token_uri})</td><td>{@code http(s)://...}; only
 *     tests change it</td></tr>
 * </table>
 */
public record GoogleWalletSettings(String issuerId, Path serviceAccountFile, String issuerName, URI logoUrl,
        List<String> origins, URI apiUrl, URI tokenUrl) {
    public static final URI DEFAULT_API = URI.create("https://walletobjects.googleapis.com");
    /** Off: no key set. */
    public static final GoogleWalletSettings OFF = new GoogleWalletSettings(null, null, null, null, List.of(), DEFAULT_API, null);

    static final Pattern ISSUER_ID = Pattern.compile("[0-9]{1,25}");
    static final Pattern HTTPS_URL = Pattern.compile("https://[^\\s]+");
    static final Pattern HTTP_URL = Pattern.compile("https?://[^\\s/]+(/[^\\s]*)?");
    static final Pattern ORIGIN = Pattern.compile("https?://[A-Za-z0-9.-]+(:\\d{1,5})?");
    static final Pattern NAME = Pattern.compile("[^\\p{Cntrl}]{1,80}");

    public GoogleWalletSettings {
        origins = List.copyOf(origins);
        Objects.requireNonNull(apiUrl, "apiUrl");
        if (issuerId != null) {
            Objects.requireNonNull(serviceAccountFile, "serviceAccountFile");
            Objects.requireNonNull(issuerName, "issuerName");
            Objects.requireNonNull(logoUrl, "logoUrl");
        }
    }

    static GoogleWalletSettings from(Settings s) {
        String issuer = s.matching("google.issuerId", null, ISSUER_ID, "the issuer id of the Google Pay & Wallet Console, 1 to 25 digits");
        String file = s.string("google.serviceAccountFile", null);
        String name = s.matching("google.issuerName", null, NAME, "1 to 80 characters without control characters");
        String logo = s.matching("google.logoUrl", null, HTTPS_URL, "https://HOST/PATH of a PNG Google can fetch");
        List<String> origins = s.list("google.origins");
        for (String o : origins) {
            if (!ORIGIN.matcher(o).matches()) {
                throw Settings.bad("google.origins", o, "comma-separated origins like https://cards.example.com (scheme, host, optional port; no path)");
            }
        }
        String api = s.matching("google.apiUrl", DEFAULT_API.toString(), HTTP_URL, "http(s)://HOST[:PORT]");
        String token = s.matching("google.tokenUrl", null, HTTP_URL, "http(s)://HOST[:PORT]/PATH");
        if (issuer == null) {
            if (file != null || name != null || logo != null || !origins.isEmpty() || token != null) {
                throw new ConfigException("google.issuerId: missing; other google.* keys are set, and Google Wallet "
                        + "needs the issuer id of the Google Pay & Wallet Console (digits); set it, or remove the google.* keys");
            }
            return OFF;
        }
        requireWith(file, "google.serviceAccountFile", "the service account's JSON key file");
        requireWith(name, "google.issuerName", "the business name shown on every pass (1 to 80 characters)");
        requireWith(logo, "google.logoUrl", "an https:// URL of the program logo, which Google requires on every loyalty class");
        Path path;
        try {
            path = Path.of(file);
        } catch (InvalidPathException e) {
            throw Settings.bad("google.serviceAccountFile", file, "a file system path");
        }
        return new GoogleWalletSettings(issuer, path, name, URI.create(logo), origins, URI.create(stripSlash(api)),
                token == null ? null : URI.create(token));
    }

    private static void requireWith(String value, String key, String what) {
        if (value == null) {
            throw new ConfigException(key + ": missing; google.issuerId is set, and Google Wallet needs " + what);
        }
    }

    private static String stripSlash(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    public boolean enabled() {
        return issuerId != null;
    }
}
