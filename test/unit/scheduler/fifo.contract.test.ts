import { FifoScheduler } from '../../../src/scheduler/fifo-scheduler.js';
import { schedulerContract } from '../../contract/scheduler.contract.js';

schedulerContract('FifoScheduler', (loaded, options) => new FifoScheduler(loaded, options));
