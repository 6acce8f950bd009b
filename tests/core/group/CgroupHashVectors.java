// Prints the expected values of tests/core/group/test_cgroup_hash.c by calling
// Kafka 4.4.0's own Utils.computeTopicHash / computeGroupHash (and hash4j's
// XXH3-64 one-shot) over the test's table of cases. Not built by CMake; run:
//   L=$HOME/.cache/sluice/kafka/4.4.0/libs
//   javac -cp "$L/*" -d /tmp/cgj CgroupHashVectors.java
//   java -cp "/tmp/cgj:$L/*" CgroupHashVectors
// It also checks, and throws if wrong, the byte stream that the C code feeds
// XXH3 (hash4j's putByte/putLong/putInt little-endian, putString = UTF-16LE
// code units then the length as an int), and that ModernGroup skips a
// subscribed name with no topic rather than hashing it as 0.
import com.dynatrace.hash4j.hashing.Hashing;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.coordinator.common.runtime.CoordinatorMetadataDelta;
import org.apache.kafka.coordinator.common.runtime.CoordinatorMetadataImage;
import org.apache.kafka.coordinator.group.Utils;
import org.apache.kafka.coordinator.group.modern.ModernGroup;
import org.apache.kafka.coordinator.group.modern.SubscriptionCount;

public class CgroupHashVectors {
    // The rack rules, mirrored by the C test's rack_of().
    static final String[] ODD_RACKS = {"", "z", "a", "a", "\u00e9", "\ud83d\ude00", "rack,,", "\ue000"};

    static List<String> racks(int mode, int p) {
        List<String> r = new ArrayList<>();
        if (mode == 1) {
            for (int k = 0; k < p % 4; k++) r.add("rack-" + ((p * 5 + k * 3) % 7));
        } else if (mode == 2) {
            for (int k = 0; k < p % 3 + 1; k++) r.add(ODD_RACKS[(p * 3 + k * 5) % 8]);
        }
        return r;
    }

    static String nameOf(int len) {
        String abc = "abcdefghijklmnopqrstuvwxyz0123456789._-";
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < len; i++) b.append(abc.charAt((i * 7 + len) % abc.length()));
        return b.toString();
    }

    record Topic(Uuid id, String name, int partitions, int mode) {}

    static CoordinatorMetadataImage image(List<Topic> topics) {
        return new CoordinatorMetadataImage() {
            public Set<Uuid> topicIds() { throw new UnsupportedOperationException(); }
            public Set<String> topicNames() { throw new UnsupportedOperationException(); }
            public Optional<TopicMetadata> topicMetadata(Uuid id) { throw new UnsupportedOperationException(); }
            public CoordinatorMetadataDelta emptyDelta() { throw new UnsupportedOperationException(); }
            public long version() { return 1; }
            public boolean isEmpty() { return topics.isEmpty(); }
            public Optional<TopicMetadata> topicMetadata(String name) {
                for (Topic t : topics) {
                    if (!t.name.equals(name)) continue;
                    return Optional.of(new TopicMetadata() {
                        public String name() { return t.name; }
                        public Uuid id() { return t.id; }
                        public int partitionCount() { return t.partitions; }
                        public List<String> partitionRacks(int p) { return racks(t.mode, p); }
                    });
                }
                return Optional.empty();
            }
        };
    }

    static void le(ByteArrayOutputStream o, long v, int n) {
        for (int i = 0; i < n; i++) o.write((int) (v >>> (8 * i)));
    }

    static void str(ByteArrayOutputStream o, String s) {
        for (int i = 0; i < s.length(); i++) le(o, s.charAt(i), 2);
        le(o, s.length(), 4);
    }

    // The stream as the C code builds it, hashed one-shot.
    static long expectedStream(Topic t) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(0);
        le(o, t.id.getMostSignificantBits(), 8);
        le(o, t.id.getLeastSignificantBits(), 8);
        str(o, t.name);
        le(o, t.partitions, 4);
        for (int p = 0; p < t.partitions; p++) {
            le(o, p, 4);
            List<String> r = racks(t.mode, p);
            Collections.sort(r);
            for (String s : r) { le(o, s.length(), 4); str(o, s); }
        }
        return Hashing.xxh3_64().hashBytesToLong(o.toByteArray());
    }

    static String cstr(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
            int c = x & 0xff;
            if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '?') b.append((char) c);
            else b.append(String.format("\\%03o", c));
        }
        return b.append('"').toString();
    }

    static String hex(long v) { return String.format("(int64_t)0x%016xULL", v); }

    public static void main(String[] args) {
        Uuid[] ids = {
            new Uuid(0L, 0L),
            new Uuid(0x0123456789abcdefL, 0xfedcba9876543210L),
            new Uuid(0x8000000000000001L, 0x7fffffffffffffffL),
            new Uuid(0xc4a1b2d3e4f50617L, 0x2839aabbccddeeffL),
        };
        List<Topic> topics = new ArrayList<>();
        int[] lens = {1, 2, 3, 5, 8, 13, 16, 17, 31, 64, 100, 127, 128, 129, 200};
        int[] parts = {0, 1, 7, 1000};
        int n = 0;
        for (int len : lens) {
            for (int p : parts) {
                int mode = n % 3;
                topics.add(new Topic(ids[n % ids.length], nameOf(len), p, mode));
                n++;
            }
        }
        topics.add(new Topic(ids[1], "orders", 3, 0));
        topics.add(new Topic(ids[2], "orders", 3, 0));
        topics.add(new Topic(ids[1], "orders", 4, 0));
        topics.add(new Topic(ids[1], "orders", 3, 1));
        topics.add(new Topic(ids[3], "\u00e9t\u00e9-\ud83d\ude00", 7, 2));

        System.out.println("/* topics: id msb, id lsb, name, partitions, rack mode, expected */");
        for (Topic t : topics) {
            long h = Utils.computeTopicHash(t.name, image(List.of(t)));
            if (h != expectedStream(t)) throw new AssertionError("byte stream differs for " + t.name);
            System.out.printf("\t{ %s, %s, %s, %d, %d, %s },%n", hex(t.id.getMostSignificantBits()),
                hex(t.id.getLeastSignificantBits()), cstr(t.name), t.partitions, t.mode, hex(h));
        }
        if (Utils.computeTopicHash("absent", image(List.of())) != 0) throw new AssertionError("absent topic");

        List<List<Integer>> groups = List.of(List.of(0), List.of(5, 1), List.of(3, 60, 61, 2),
            List.of(64, 63, 62, 61, 60), List.of(10, 20, 30, 40, 50, 59, 58));
        System.out.println("/* groups: names in the order given, hashes, expected */");
        for (List<Integer> g : groups) {
            Map<String, Long> m = new LinkedHashMap<>();
            StringBuilder names = new StringBuilder(), hashes = new StringBuilder();
            for (int i : g) {
                String name = i >= 60 ? (i == 64 ? "\ue000x" : i == 63 ? "\ud83d\ude00y" : "t" + (100 - i)) : topics.get(i).name + "#" + i;
                long h = Utils.computeTopicHash(topics.get(i).name, image(List.of(topics.get(i))));
                m.put(name, h);
                names.append(cstr(name)).append(", ");
                hashes.append(hex(h)).append(", ");
            }
            System.out.printf("\t{ %d, { %s}, { %s}, %s },%n", g.size(), names, hashes, hex(Utils.computeGroupHash(m)));
        }
        if (Utils.computeGroupHash(Map.of()) != 0) throw new AssertionError("empty group");

        // A subscribed name without a topic is left out, not hashed as 0.
        List<Topic> img = List.of(topics.get(1), new Topic(ids[3], "c", 2, 1));
        Map<String, SubscriptionCount> subs = new LinkedHashMap<>();
        for (String s : List.of(topics.get(1).name, "c", "missing")) subs.put(s, new SubscriptionCount(1, 0));
        Map<String, Long> present = new LinkedHashMap<>();
        present.put(topics.get(1).name, Utils.computeTopicHash(topics.get(1).name, image(img)));
        present.put("c", Utils.computeTopicHash("c", image(img)));
        long withMissing = ModernGroup.computeMetadataHash(subs, new java.util.HashMap<>(), image(img));
        if (withMissing != Utils.computeGroupHash(present)) throw new AssertionError("missing name not skipped");
        Map<String, Long> zero = new LinkedHashMap<>(present);
        zero.put("missing", 0L);
        if (withMissing == Utils.computeGroupHash(zero)) throw new AssertionError("missing hashed as 0?");
        System.out.printf("/* missing name skipped: c=%s group=%s */%n",
            hex(present.get("c")), hex(withMissing));

        // More names than one sorting pass of the C code: "g<(i*37)%600>".
        Map<String, Long> big = new LinkedHashMap<>();
        for (int i = 0; i < 600; i++) big.put("g" + (i * 37 % 600), i * 0x9E3779B97F4A7C15L);
        System.out.printf("/* 600 names: %s */%n", hex(Utils.computeGroupHash(big)));

        // XXH3-64 one-shot over xxHash's sanity buffer (PRIME32 start, times PRIME64).
        int[] xl = {0, 1, 2, 3, 4, 5, 6, 8, 9, 12, 15, 16, 17, 24, 31, 32, 48, 64, 80, 96, 127, 128, 129, 195, 200, 239, 240, 241,
            255, 256, 403, 512, 1023, 1024, 1025, 2047, 2048, 2099, 2240, 2367, 4096, 5000};
        byte[] buf = new byte[5000];
        long gen = 2654435761L;
        for (int i = 0; i < buf.length; i++) { buf[i] = (byte) (gen >>> 56); gen *= 0x9E3779B185EBCA8DL; }
        System.out.println("/* xxh3: length, expected */");
        for (int len : xl)
            System.out.printf("\t{ %d, 0x%016xULL },%n", len, Hashing.xxh3_64().hashBytesToLong(buf, 0, len));
    }
}
