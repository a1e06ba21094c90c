package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Apple Wallet passes and their updates (docs/wallet.md, "Apple Wallet"). Off unless
 * {@code wallet.apple.passTypeId} is set; then the team id, the certificate and key (PEM, or one PKCS#12 file),
 * Apple's WWDR intermediate and the public base URL are required. Files are checked for readability here;
 * their contents (dates, key matching the certificate) when the sink starts and by {@code wallet check}.
 *
 * <table>
 * <caption>Keys</caption>
 * <tr><th>key</th><th>default</th><th>allowed</th></tr>
 * <tr><td>{@code wallet.apple.passTypeId}</td><td>(none: Apple Wallet off)</td><td>{@code pass.} followed by a reverse-DNS name, e.g. {@code pass.com.example.coffee}</td></tr>
 * <tr><td>{@code wallet.apple.teamId}</td><td>(required)</td><td>10 upper-case letters or digits, from the developer account</td></tr>
 * <tr><td>{@code wallet.apple.cert}</td><td>(cert+key or p12)</td><td>PEM file of the Pass Type ID certificate</td></tr>
 * <tr><td>{@code wallet.apple.key}</td><td>(with cert)</td><td>PEM file of its private key (PKCS#8 or PKCS#1, unencrypted)</td></tr>
 * <tr><td>{@code wallet.apple.p12}</td><td>(cert+key or p12)</td><td>PKCS#12 file with certificate and key, as Keychain exports it</td></tr>
 * <tr><td>{@code wallet.apple.p12Password}</td><td>empty</td><td>its password; never logged</td></tr>
 * <tr><td>{@code wallet.apple.wwdr}</td><td>(required)</td><td>Apple's WWDR intermediate certificate (PEM or DER {@code .cer}) that signed the pass certificate</td></tr>
 * <tr><td>{@code wallet.apple.webServiceUrl}</td><td>(required)</td><td>{@code https://HOST[:PORT][/PATH]}: how phones reach this sink; passes get {@code <it>/passkit}</td></tr>
 * <tr><td>{@code wallet.apple.apnsUrl}</td><td>{@code https://api.push.apple.com}</td><td>{@code https://...}; tests point it at a local server</td></tr>
 * <tr><td>{@code wallet.apple.apnsCa}</td><td>(the JVM's CA store)</td><td>PEM file of the CA that signed the APNs server's certificate (tests)</td></tr>
 * <tr><td>{@code wallet.apple.logo}</td><td>(drawn by the sink)</td><td>PNG file, 160x50 (shown top left of the pass)</td></tr>
 * <tr><td>{@code wallet.apple.icon}</td><td>(drawn by the sink)</td><td>PNG file, 29x29 (lock screen and mail)</td></tr>
 * <tr><td>{@code program.<id>.passBarcode}</td><td>{@code qr}</td><td>{@code qr}, {@code pdf417}, {@code aztec}, {@code code128}</td></tr>
 * <tr><td>{@code program.<id>.passColor}</td><td>{@code #3C2415}</td><td>{@code #RRGGBB}: the pass's background</td></tr>
 * <tr><td>{@code program.<id>.passTextColor}</td><td>{@code #FFFFFF}</td><td>{@code #RRGGBB}: its text</td></tr>
 * </table>
 */
public record AppleWalletSettings(String passTypeId, String teamId, Path cert, Path key, Path p12, String p12Password,
        Path wwdr, URI webServiceUrl, URI apnsUrl, Path apnsCa, Path logo, Path icon, Map<String, PassStyle> styles) {
    static final Pattern PASS_TYPE_ID = Pattern.compile("pass\\.[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+");
    static final Pattern TEAM_ID = Pattern.compile("[A-Z0-9]{10}");
    static final Pattern HTTPS = Pattern.compile("https://[A-Za-z0-9.\\[\\]:-]+(/[A-Za-z0-9._~/-]*)?");
    static final Pattern COLOR = Pattern.compile("#[0-9A-Fa-f]{6}");
    public static final String DEFAULT_APNS = "https://api.push.apple.com";

    /** The barcode kinds Wallet shows. */
    public enum Barcode {
        QR("PKBarcodeFormatQR"), PDF417("PKBarcodeFormatPDF417"), AZTEC("PKBarcodeFormatAztec"),
        CODE128("PKBarcodeFormatCode128");

        private final String passKitName;

        Barcode(String passKitName) {
            this.passKitName = passKitName;
        }

        public String passKitName() {
            return passKitName;
        }
    }

    /** A program's look on its pass. Colours as {@code #RRGGBB}. */
    public record PassStyle(Barcode barcode, String background, String foreground) {
        public static final PassStyle DEFAULT = new PassStyle(Barcode.QR, SinkKeys.PROGRAM_PASS_COLOR.defaultValue(),
                SinkKeys.PROGRAM_PASS_TEXT_COLOR.defaultValue());
    }

    public AppleWalletSettings {
        styles = Collections.unmodifiableMap(new TreeMap<>(styles));
    }

    /** Everything off: no pass type id. */
    public static AppleWalletSettings off(Map<String, PassStyle> styles) {
        return new AppleWalletSettings(null, null, null, null, null, null, null, null, URI.create(DEFAULT_APNS), null, null,
                null, styles);
    }

    public boolean enabled() {
        return passTypeId != null;
    }

    public PassStyle style(String programId) {
        return styles.getOrDefault(programId, PassStyle.DEFAULT);
    }

    static AppleWalletSettings from(Settings s, Map<String, Program> programs) {
        Map<String, PassStyle> styles = new TreeMap<>();
        for (Program p : programs.values()) {
            String prefix = "program." + p.id() + ".";
            Barcode barcode = s.choice(SinkKeys.program(SinkKeys.PROGRAM_PASS_BARCODE, prefix), Barcode.class);
            String bg = s.matching(SinkKeys.program(SinkKeys.PROGRAM_PASS_COLOR, prefix), COLOR, "#RRGGBB, e.g. #3C2415");
            String fg = s.matching(SinkKeys.program(SinkKeys.PROGRAM_PASS_TEXT_COLOR, prefix), COLOR, "#RRGGBB, e.g. #FFFFFF");
            styles.put(p.id(), new PassStyle(barcode, bg.toUpperCase(Locale.ROOT), fg.toUpperCase(Locale.ROOT)));
        }
        String passTypeId = s.matching("wallet.apple.passTypeId", null, PASS_TYPE_ID,
                "the Pass Type ID from the developer account, 'pass.' and a reverse-DNS name like pass.com.example.coffee");
        String teamId = s.matching("wallet.apple.teamId", null, TEAM_ID, "the 10-character Team ID, e.g. A1B2C3D4E5");
        Path cert = file(s, "wallet.apple.cert");
        Path key = file(s, "wallet.apple.key");
        Path p12 = file(s, "wallet.apple.p12");
        String p12Password = s.string("wallet.apple.p12Password", "");
        Path wwdr = file(s, "wallet.apple.wwdr");
        String web = s.matching("wallet.apple.webServiceUrl", null, HTTPS,
                "https://HOST[:PORT][/PATH] without a trailing query: the public address of this sink");
        String apns = s.matching("wallet.apple.apnsUrl", DEFAULT_APNS, HTTPS, "https://HOST[:PORT]");
        Path apnsCa = file(s, "wallet.apple.apnsCa");
        Path logo = file(s, "wallet.apple.logo");
        Path icon = file(s, "wallet.apple.icon");
        URI apnsUrl = URI.create(trimSlash(apns));
        if (passTypeId == null) {
            for (String k : new String[] {"teamId", "cert", "key", "p12", "wwdr", "webServiceUrl"}) {
                if (s.string("wallet.apple." + k, null) != null) {
                    throw new ConfigException("wallet.apple." + k + ": set, but wallet.apple.passTypeId is not; Apple "
                            + "Wallet needs the Pass Type ID too (or remove the wallet.apple keys)");
                }
            }
            return new AppleWalletSettings(null, null, null, null, null, null, null, null, apnsUrl, apnsCa, logo, icon,
                    styles);
        }
        need(teamId, "wallet.apple.teamId", "the 10-character Team ID of the account that owns " + passTypeId);
        need(wwdr, "wallet.apple.wwdr", "Apple's WWDR intermediate certificate (AppleWWDRCAG4.cer)");
        need(web, "wallet.apple.webServiceUrl", "https://HOST: the address phones reach this sink at");
        if (p12 == null && (cert == null || key == null)) {
            throw new ConfigException("wallet.apple.cert: missing; set wallet.apple.cert and wallet.apple.key (PEM), "
                    + "or wallet.apple.p12 (PKCS#12 as exported from Keychain)");
        }
        if (p12 != null && (cert != null || key != null)) {
            throw new ConfigException("wallet.apple.p12: set together with wallet.apple.cert/key; use one of the two");
        }
        return new AppleWalletSettings(passTypeId, teamId, cert, key, p12, p12Password, wwdr, URI.create(trimSlash(web)),
                apnsUrl, apnsCa, logo, icon, styles);
    }

    private static void need(Object value, String key, String what) {
        if (value == null) {
            throw new ConfigException(key + ": missing; wallet.apple.passTypeId is set, and Apple Wallet needs " + what);
        }
    }

    private static Path file(Settings s, String key) {
        String value = s.string(key, null);
        if (value == null) {
            return null;
        }
        Path p;
        try {
            p = Path.of(value);
        } catch (InvalidPathException e) {
            throw Settings.bad(key, value, "the path of a readable file");
        }
        if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
            throw new ConfigException(key + ": '" + value + "' is not a readable file; allowed: the path of a readable file");
        }
        return p;
    }

    private static String trimSlash(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    @Override
    public String toString() {
        return enabled() ? "AppleWallet[passTypeId=" + passTypeId + ", teamId=" + teamId + ", webServiceUrl="
                + webServiceUrl + ", apnsUrl=" + apnsUrl + ", p12Password=****]" : "AppleWallet[off]";
    }
}
