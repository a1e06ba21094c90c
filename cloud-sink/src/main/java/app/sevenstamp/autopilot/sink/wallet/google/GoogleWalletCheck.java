package app.sevenstamp.autopilot.sink.wallet.google;

import app.sevenstamp.autopilot.sink.config.GoogleWalletSettings;
import app.sevenstamp.autopilot.sink.wallet.WalletFinding;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Clock;
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
    private GoogleWalletCheck() {
    }

    /** Runs every check; the report's lines in order. */
    public static List<WalletFinding> run(GoogleWalletSettings settings, HttpClient http, Clock clock) {
        List<WalletFinding> out = new ArrayList<>();
        if (!settings.enabled()) {
            out.add(WalletFinding.ok("google", "off: google.issuerId is not set; the join page offers no Google Wallet button "
                    + "(to turn it on set google.issuerId, google.serviceAccountFile, google.issuerName and google.logoUrl; "
                    + "docs/wallet.md, \"Google Wallet\")"));
            return out;
        }
        out.add(WalletFinding.ok("google", "issuer " + settings.issuerId() + " (" + settings.issuerName() + "), API " + settings.apiUrl()));
        var file = settings.serviceAccountFile();
        if (!Files.isRegularFile(file)) {
            out.add(WalletFinding.problem("google", "google.serviceAccountFile " + file + " does not exist; download the service account's "
                    + "JSON key (Cloud console, IAM, Service accounts, Keys, Add key, JSON)"));
            return out;
        }
        if (!Files.isReadable(file)) {
            out.add(WalletFinding.problem("google", "google.serviceAccountFile " + file + " is not readable by this user"));
            return out;
        }
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (perms.contains(PosixFilePermission.OTHERS_READ) || perms.contains(PosixFilePermission.GROUP_READ)) {
                out.add(WalletFinding.problem("google", file + " is readable by group or others; anyone who reads it can issue passes "
                        + "in your name: chmod 600 " + file));
            }
        } catch (UnsupportedOperationException | IOException e) {
            // not a POSIX file system: nothing to say about modes
        }
        ServiceAccount account;
        try {
            account = ServiceAccount.load(file);
        } catch (GoogleWalletException e) {
            out.add(WalletFinding.problem("google", e.getMessage()));
            return out;
        }
        out.add(WalletFinding.ok("google", "service account " + account.clientEmail() + ", RSA key of "
                + account.privateKey().getModulus().bitLength() + " bits" + (account.privateKeyId() == null ? ""
                        : " (key id " + account.privateKeyId() + ")")));
        URI tokenUrl = settings.tokenUrl() != null ? settings.tokenUrl() : account.tokenUri();
        try {
            new AccessTokens(account, tokenUrl, http, clock).get();
            out.add(WalletFinding.ok("google", "the token endpoint " + tokenUrl + " gave an access token for the wallet_object.issuer scope"));
        } catch (GoogleWalletException e) {
            out.add(WalletFinding.problem("google", e.getMessage()));
        }
        if (settings.origins().isEmpty()) {
            out.add(WalletFinding.ok("google", "google.origins is empty: fine for the redirect link; set the sink's public origin "
                    + "if a page shows Google's own button"));
        }
        return out;
    }
}
