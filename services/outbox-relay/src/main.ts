import { runMain, startRelayService } from '@leadscorer/scoring-service';

// Publishes stage changes recorded in the Redis outbox that the consumers' inline path did not
// (crash or broker outage between recording and publishing). Safe to run as several replicas.
runMain((onFatal) => startRelayService({ service: 'outbox-relay', defaultPort: 9468, onFatal }, process.env));
