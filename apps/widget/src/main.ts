import { createChatClient, createSocketIoTransport } from '@huiliu/client';
console.log(createChatClient, createSocketIoTransport);
