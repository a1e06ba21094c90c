package app.sevenstamp.autopilot.sink.wallet.apple;

import app.sevenstamp.autopilot.sink.config.AppleWalletSettings;
import app.sevenstamp.autopilot.sink.wallet.CardState;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Date;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.cms.Attribute;
import org.bouncycastle.asn1.cms.AttributeTable;
import org.bouncycastle.asn1.cms.CMSAttributes;
import org.bouncycastle.asn1.cms.Time;
import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.cms.DefaultSignedAttributeTableGenerator;
import org.bouncycastle.cms.jcajce.JcaSignerInfoGeneratorBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

/**
 * Builds a signed {@code .pkpass}: {@code pass.json}, the pictures, {@code manifest.json} (the SHA-1 of
 * every other file) and {@code signature}, a detached CMS (PKCS #7) signature of the manifest by the Pass
 * Type ID certificate, carrying that certificate and Apple's WWDR intermediate and a signing time, all
 * in one zip. This is exactly what Wallet checks before it shows a pass. Thread-safe: it holds only
 * immutable settings and the credentials.
 */
final class PassPackage {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final AppleWalletSettings settings;
    private final PassCredentials credentials;
    private final byte[] icon;
    private final byte[] logo;

    /** @param icon, logo configured PNGs, or null to draw them per program */
    PassPackage(AppleWalletSettings settings, PassCredentials credentials, byte[] icon, byte[] logo) {
        this.settings = settings;
        this.credentials = credentials;
        this.icon = icon;
        this.logo = logo;
    }

    /**
     * The pass of a card.
     *
     * @param code      the card code: the barcode's text
     * @param authToken this copy's authenticationToken (the phone sends it back on every web service call)
     */
    byte[] build(CardState card, String code, String authToken, Instant signedAt) {
        AppleWalletSettings.PassStyle style = settings.style(card.programId());
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("pass.json", passJson(card, code, authToken, style));
        files.put("icon.png", icon != null ? icon : PassImages.badge(29, 29, style.background(), style.foreground()));
        files.put("icon@2x.png", icon != null ? icon : PassImages.badge(58, 58, style.background(), style.foreground()));
        files.put("logo.png", logo != null ? logo : PassImages.badge(50, 50, style.background(), style.foreground()));
        files.put("logo@2x.png", logo != null ? logo : PassImages.badge(100, 100, style.background(), style.foreground()));
        int required = Math.max(card.stampsRequired(), 1);
        files.put("strip.png", PassImages.strip(card.stamps(), required, style.background(), style.foreground(), 1));
        files.put("strip@2x.png", PassImages.strip(card.stamps(), required, style.background(), style.foreground(), 2));
        byte[] manifest = manifest(files);
        files.put("manifest.json", manifest);
        files.put("signature", sign(manifest, signedAt));
        return zip(files);
    }

    byte[] passJson(CardState card, String code, String authToken, AppleWalletSettings.PassStyle style) {
        ObjectNode p = JSON.createObjectNode();
        p.put("formatVersion", 1);
        p.put("passTypeIdentifier", settings.passTypeId());
        p.put("teamIdentifier", settings.teamId());
        p.put("serialNumber", card.cardId());
        p.put("organizationName", card.programName());
        p.put("description", card.programName() + " loyalty card");
        p.put("logoText", card.programName());
        p.put("webServiceURL", settings.webServiceUrl() + "/passkit");
        p.put("authenticationToken", authToken);
        p.put("backgroundColor", rgb(style.background()));
        p.put("foregroundColor", rgb(style.foreground()));
        p.put("labelColor", rgb(style.foreground()));
        p.put("sharingProhibited", true);
        ArrayNode barcodes = p.putArray("barcodes");
        ObjectNode b = barcodes.addObject();
        b.put("format", style.barcode().passKitName());
        b.put("message", code);
        b.put("messageEncoding", "iso-8859-1");
        b.put("altText", card.cardId());
        if (style.barcode() != AppleWalletSettings.Barcode.CODE128) {
            p.set("barcode", b.deepCopy()); // iOS 8 and older read only this one, which knows no Code128
        }
        ObjectNode store = p.putObject("storeCard");
        String progress = card.stampsRequired() > 0 ? card.stamps() + " of " + card.stampsRequired() : Integer.toString(card.stamps());
        field(store.putArray("headerFields"), "stamps", "STAMPS", progress).put("changeMessage", "Stamps: %@");
        field(store.putArray("secondaryFields"), "rewards", "REWARDS", Integer.toString(card.rewardsAvailable()))
                .put("changeMessage", "Rewards available: %@");
        ArrayNode back = store.putArray("backFields");
        field(back, "rewardsBack", "Rewards available", card.rewardsAvailable() == 0 ? "None yet"
                : card.rewardsAvailable() + (card.rewardsAvailable() == 1 ? " reward" : " rewards") + " to redeem at the counter");
        List<String> vouchers = card.vouchers();
        field(back, "vouchers", "Active vouchers", vouchers.isEmpty() ? "None" : String.join("\n", vouchers))
                .put("changeMessage", "Vouchers: %@");
        field(back, "card", "Card", card.cardId());
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ObjectNode field(ArrayNode fields, String key, String label, String value) {
        ObjectNode f = fields.addObject();
        f.put("key", key);
        f.put("label", label);
        f.put("value", value);
        return f;
    }

    static String rgb(String hex) {
        int v = Integer.parseInt(hex.substring(1), 16);
        return "rgb(" + (v >> 16 & 0xFF) + ", " + (v >> 8 & 0xFF) + ", " + (v & 0xFF) + ")";
    }

    static byte[] manifest(Map<String, byte[]> files) {
        ObjectNode m = JSON.createObjectNode();
        try {
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                m.put(f.getKey(), HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(f.getValue())));
            }
            return JSON.writeValueAsBytes(m);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-1 is part of every JDK", e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The detached CMS signature: SHA-256 with the pass key, the certificate and WWDR included, a signing time. */
    byte[] sign(byte[] manifest, Instant signedAt) {
        try {
            String alg = credentials.key().getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
            ASN1EncodableVector attrs = new ASN1EncodableVector();
            attrs.add(new Attribute(CMSAttributes.signingTime, new DERSet(new Time(Date.from(signedAt)))));
            CMSSignedDataGenerator gen = new CMSSignedDataGenerator();
            gen.addSignerInfoGenerator(new JcaSignerInfoGeneratorBuilder(new JcaDigestCalculatorProviderBuilder().build())
                    .setSignedAttributeGenerator(new DefaultSignedAttributeTableGenerator(new AttributeTable(attrs)))
                    .build(new JcaContentSignerBuilder(alg).build(credentials.key()), credentials.certificate()));
            gen.addCertificates(new JcaCertStore(List.of(credentials.certificate(), credentials.wwdr())));
            return gen.generate(new CMSProcessableByteArray(manifest), false).getEncoded("DER");
        } catch (GeneralSecurityException | OperatorCreationException | CMSException | IOException e) {
            throw new IllegalStateException("cannot sign the pass manifest: " + e.getMessage(), e);
        }
    }

    private static byte[] zip(Map<String, byte[]> files) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                z.putNextEntry(new ZipEntry(f.getKey()));
                z.write(f.getValue());
                z.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
