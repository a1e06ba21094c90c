package app.sevenstamp.autopilot.sink.wallet.google;

import app.sevenstamp.autopilot.sink.config.GoogleWalletSettings;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The Google part of {@code wallet check}: what an operator needs to know before the first customer
 * taps "Add to Google Wallet". Checks, in order, and stops at the first that fails what follows needs:
 * settings present; the service account file readable (and not readable by others); it parses, with
 * an RSA key; the token endpoint gives a token for it. Makes no change at Google.
 */
public final class GoogleWalletCheck {
    /** One line of the report. */
    public record Finding(boolean ok, String text) {
        @Override
        public String toString() {
            return (ok ? "ok    " : "FAIL  ") + "google: " + text;
        }
    }

    private GoogleWalletCheck() {
    }

    /** Runs every check; the report's lines in order. {@link #passed} says whether all were ok. */
    public static List<Finding> run(GoogleWalletSettings settings, HttpClient http, Clock clock) {
        List<Finding> out = new ArrayList<>();
        if (!settings.enabled()) {
            out.add(new Finding(false, "off: google.issuerId is not set (set google.issuerId, google.serviceAccountFile, "
                    + "google.issuerName and google.logoUrl; see docs/wallet.md)"));
            return out;
        }
        out.add(new Finding(true, "issuer " + settings.issuerId() + " (" + settings.issuerName() + "), API " + settings.apiUrl()));
        var file = settings.serviceAccountFile();
        if (!Files.isRegularFile(file)) {
            out.add(new Finding(false, "google.serviceAccountFile " + file + " does not exist; download the service account's "
                    + "JSON key (Cloud console, IAM, Service accounts, Keys, Add key, JSON)"));
            return out;
        }
        if (!Files.isReadable(file)) {
            out.add(new Finding(false, "google.serviceAccountFile " + file + " is not readable by this user"));
            return out;
        }
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (perms.contains(PosixFilePermission.OTHERS_READ) || perms.contains(PosixFilePermission.GROUP_READ)) {
                out.add(new Finding(false, file + " is readable by group or others; anyone who reads it can issue passes "
                        + "in your name: chmod 600 " + file));
            }
        } catch (UnsupportedOperationException | IOException e) {
            // not a POSIX file system: nothing to say about modes
        }
        ServiceAccount account;
        try {
            account = ServiceAccount.load(file);
        } catch (GoogleWalletException e) {
            out.add(new Finding(false, e.getMessage()));
            return out;
        }
        out.add(new Finding(true, "service account " + account.clientEmail() + ", RSA key of "
                + account.privateKey().getModulus().bitLength() + " bits" + (account.privateKeyId() == null ? ""
                        : " (key id " + account.privateKeyId() + ")")));
        URI tokenUrl = settings.tokenUrl() != null ? settings.tokenUrl() : account.tokenUri();
        try {
            new AccessTokens(account, tokenUrl, http, clock).get();
            out.add(new Finding(true, "the token endpoint " + tokenUrl + " gave an access token for the wallet_object.issuer scope"));
        } catch (GoogleWalletException e) {
            out.add(new Finding(false, e.getMessage()));
        }
        if (settings.origins().isEmpty()) {
            out.add(new Finding(true, "google.origins is empty: fine for the redirect link; set the sink's public origin "
                    + "if a page shows Google's own button"));
        }
        return out;
    }

    /** With the JDK's HTTP client and the system clock. */
    public static List<Finding> run(GoogleWalletSettings settings) {
        return run(settings, HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build(), Clock.systemUTC());
    }

    public static boolean passed(List<Finding> findings) {
        return findings.stream().allMatch(Finding::ok);
    }
}
