import { consumerSpec, runMain, startConsumerService } from '@leadscorer/scoring-service';

// Consumer service: reads its topic(s), applies each event to the lead in Redis atomically,
// publishes stage changes. All behaviour lives in libs/scoring-service; config is environment.
runMain((onFatal) => startConsumerService(consumerSpec('trial-activity', onFatal), process.env));
