export default function RoutingQueuePage() {
  return null;
}
