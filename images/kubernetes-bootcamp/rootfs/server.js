// The Kubernetes bootcamp app: one page on port 8080 naming the pod that served it.
// In this offline image the same behaviour comes from /usr/local/bin/bootcamp-server (busybox sh and nc);
// this file is the program it stands for.
const http = require("http");
const fs = require("fs");

const version = fs.readFileSync("/app/version", "utf8").trim();
const podName = process.env.HOSTNAME;
let requests = 0;
let startedAt;

http
  .createServer((request, response) => {
    requests += 1;
    response.writeHead(200, { "Content-Type": "text/plain" });
    response.end(`Hello Kubernetes bootcamp! | Running on: ${podName} | v=${version}\n`);
    const uptime = (Date.now() - startedAt.getTime()) / 1000;
    console.log(`Running On: ${podName} | Total Requests: ${requests} | App Uptime: ${uptime} seconds | Log Time: ${new Date()}`);
  })
  .listen(8080, () => {
    startedAt = new Date();
    console.log(`Kubernetes Bootcamp App Started At: ${startedAt.toISOString()} | Running On:  ${podName} \n`);
  });
