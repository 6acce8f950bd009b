// What the broker advertises in ApiVersions, asked over a plain socket (the Java
// client keeps its ApiVersions answer internal). Tests of an API sluice does not
// serve yet read this to know which behaviour to expect.
package sluice.javaclient;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

final class BrokerApis {
    static final short API_VERSIONS = 18;
    private static final int SOCKET_TIMEOUT_MS = 10000;
    /** Bounds what a broker may claim, so a bad answer cannot make us allocate much. */
    private static final int API_COUNT_MAX = 1000;
    private static Map<Short, Short> maxVersions;

    private BrokerApis() {}

    /** True when the broker advertises the API key at any version. */
    static synchronized boolean advertises(short apiKey) throws IOException {
        if (maxVersions == null)
            maxVersions = ask(Sluice.bootstrap());
        return maxVersions.containsKey(apiKey);
    }

    /** ApiVersions v0: header (key, version, correlation id, client id), empty body;
     * the answer is error code, then [key, min, max]. */
    private static Map<Short, Short> ask(String bootstrap) throws IOException {
        int colon = bootstrap.lastIndexOf(':');
        String host = bootstrap.substring(0, colon);
        int port = Integer.parseInt(bootstrap.substring(colon + 1).split(",")[0]);
        byte[] clientId = "sluice-java-tests".getBytes(StandardCharsets.UTF_8);
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), SOCKET_TIMEOUT_MS);
            s.setSoTimeout(SOCKET_TIMEOUT_MS);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeInt(2 + 2 + 4 + 2 + clientId.length);
            out.writeShort(API_VERSIONS);
            out.writeShort(0);
            out.writeInt(1);
            out.writeShort(clientId.length);
            out.write(clientId);
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            in.readInt();
            in.readInt();
            short error = in.readShort();
            if (error != 0)
                throw new IOException("ApiVersions v0 answered error " + error);
            int count = in.readInt();
            if (count < 0 || count > API_COUNT_MAX)
                throw new IOException("ApiVersions v0 answered " + count + " APIs");
            Map<Short, Short> versions = new HashMap<>();
            for (int i = 0; i < count; i++) {
                short key = in.readShort();
                in.readShort();
                versions.put(key, in.readShort());
            }
            return versions;
        }
    }
}
