// What sluice is expected to serve, in one place. Each expectation follows from
// what the broker advertises: a test of an API sluice lacks asserts the clear,
// quick error a client must see, and the day sluice advertises the API the
// same test asserts the real behaviour instead, without an edit.
package sluice.javaclient;

import java.io.IOException;

final class Expectations {
    static final short CONSUMER_GROUP_HEARTBEAT = 68;
    static final short DESCRIBE_CONFIGS = 32;

    private Expectations() {}

    /** KIP-848: the `consumer` group protocol. */
    static boolean servesConsumerGroupProtocol() throws IOException {
        return BrokerApis.advertises(CONSUMER_GROUP_HEARTBEAT);
    }

    static boolean servesDescribeConfigs() throws IOException {
        return BrokerApis.advertises(DESCRIBE_CONFIGS);
    }
}
