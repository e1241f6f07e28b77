"""The centre on NATS JetStream: the link to the cluster (link), where the MQTT gateway keeps
the gateways' messages (subjects), and the clerks' consumer group (consumer_group)."""
