import { startSampleApi } from './src/demo/sample-api.js';
const api = await startSampleApi({ orders: 20000, pageSize: 1000 });
console.log(api.url);
setTimeout(() => api.close(), 60000);
