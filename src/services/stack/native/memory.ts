/** Memory caps (the original stack asks for 8 GB; these keep the whole native stack around 2-3 GB). */
export const MEMORY = {
  kafkaHeap: '256m',
  sparkDaemon: '160m',
  sparkWorkerMemory: '2g',
  sparkWorkerCores: 2,
  airflowWebWorkers: 1,
  /** LocalExecutor worker processes (each a forked scheduler) */
  airflowParallelism: 2,
};

